import numpy
import deeper

def go():
    return numpy.zeros(1)

SELECT pi()
